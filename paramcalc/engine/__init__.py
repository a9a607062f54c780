"""The engine: a validated spec expanded into a graph (blocks, repeats, names) and analysed, layer by layer, into
records and totals. It imports neither click nor rich."""
