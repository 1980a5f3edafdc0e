"""Virtualised thumbnail gallery over the images of a project."""
