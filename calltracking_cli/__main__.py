"""``python -m calltracking_cli``: the same as the ``calltracking`` console script."""

from calltracking_cli.main import cli

cli()
