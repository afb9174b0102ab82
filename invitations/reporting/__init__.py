"""The dashboard: its figures (figures.py, counted and kept per hour), their shapes
(stats.py) and the chart drawn from them (chart.py)."""
