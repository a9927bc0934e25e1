// Placeholder entry point; the CLI lands here.
print("gigi")
