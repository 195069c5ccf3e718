"""One module per lint rule; each rule class documents itself and carries VALID/INVALID samples."""
