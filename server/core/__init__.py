"""What every feature uses: database, event bus, clock, errors, middlewares, metrics."""
