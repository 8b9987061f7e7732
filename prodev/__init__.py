"""The machinery behind the lessons: configuration, engines, CSV loading.

The numbered files at the top of the project teach one pattern each and get
their connections from ``seed``; everything they need but do not teach lives
here, one module per concern:

- ``config``: the settings, read from the environment and ``.env``.
- ``errors``: the errors a user can act on, and how they are printed.
- ``connections``: opening and closing connections on the chosen engine.
- ``backends``: one backend per engine (``mysql``, ``sqlite``), owning all
  that differs: connecting, the SQL that is not portable, early close, and
  the one translation of driver errors; ``backends.mysql_fast`` holds every
  use of mysql-connector-python's internals, engaged only where offered.
- ``schema``: the user_data table and the check of an existing one.
- ``csvfile``: reading and validating the CSV file.
- ``bulkload``: loading validated rows, all or nothing.
- ``resume``: reconnecting a walk after its server goes away.
- ``follow``: following user_data live (a change log fed by a trigger).
- ``produce``: simulated arrivals, synthetic users at a steady rate.
- ``pipeline``: stages of a generator pipeline that close upstream and name
  themselves in errors; the export command's options and output.
- ``aio``: rows for asyncio (lesson 8), through each backend's asyncio side.
- ``curriculum``: the process-level behaviour the curriculum's drivers need.
"""
