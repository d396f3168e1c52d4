"""Exports of a service's catalog to S3: targets, formats, the S3 writer and the plain-Python export run."""
