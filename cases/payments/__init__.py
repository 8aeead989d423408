"""The monthly payment cycle (issue 18): payment lists to each provider, their returns reconciled."""
