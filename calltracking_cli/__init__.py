"""The owner's command-line tool, ``calltracking``: set up, deploy and run a call-tracking stage.

Not shipped in the Lambda package (Chalice ships ``app.py``, ``chalicelib/`` and
``requirements.txt`` only): it runs on the owner's machine, with Click (the version Chalice
already pins), boto3 and the Twilio SDK from the development environment.
"""
