"""Process tuning: the optimisations that reach into a dependency, in one place.

Each module opens with what it changes, its measured gain (``bench/RESULTS.md``), how to switch
it off, and which test fails when the dependency changes under it:

* ``lazy_types`` — aiogram's types and methods build their validators on first use
  (``import bot``);
  ``LAZY_TYPES=0`` switches it off;
* ``response_types`` — the everyday methods' answer models are built once and kept
  (``create_bot``);
* ``forget_updates`` — aiogram's ``Update.event_type`` no longer keeps the last 128 updates
  alive (``create_dispatcher``);
* ``gc_tuning`` — the start-up heap is frozen out of the garbage collector (``run_bot``);
* ``heap_trim`` — glibc's allocator gives its free memory back to the system after start-up
  and every 10 seconds (``run_bot``).

Only the process's start-up code (``bot/__init__.py``, ``bot/app.py``, ``bot/runner.py``) uses
them; handlers, services, storage and the provider client never import this package
(``tests/test_runtime.py``). Importing the package itself imports nothing, so that
``lazy_types`` can run before aiogram is imported.
"""
