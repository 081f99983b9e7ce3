"""The game: coordinates, the board and its numba rules kernels, ladders, the 48 AlphaGo
input planes (and their slow sgfmill-based reference), symmetries, scoring and rendering."""
