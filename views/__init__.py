"""Thin views: parse the request, check access, call one service, commit once, redirect."""
