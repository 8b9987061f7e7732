#!/usr/bin/env python3
"""The curriculum's driver for task 3 (2-lazy_paginate.py): run as python 3-main.py | head -n 7"""
import sys

lazy_paginator = __import__('2-lazy_paginate').lazy_pagination

try:
    for page in lazy_paginator(100):
        for user in page:
            print(user)

except BrokenPipeError:
    sys.stderr.close()
