#!/usr/bin/env python3
"""The curriculum's driver for task 2 (1-batch_processing.py): run as ./2-main.py | head -n 5"""
import sys

processing = __import__('1-batch_processing')

# print processed users in a batch of 50
try:
    processing.batch_processing(50)
except BrokenPipeError:
    sys.stderr.close()
