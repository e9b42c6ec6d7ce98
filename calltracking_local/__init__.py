"""What only the local stack runs (`make run`, the tests): the event pump, the local telephony provider and its audio.

Never part of the Lambda package (calltracking_cli/package.py ships chalicelib/ and app.py only).
"""
