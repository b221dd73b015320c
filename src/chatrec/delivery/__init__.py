"""Delivery of recording files to each company's recording platform over SFTP (R16)."""
