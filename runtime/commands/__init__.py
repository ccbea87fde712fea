"""One module per ``edgedeblur`` subcommand (argument parsing only; work lives elsewhere)."""
