"""What inference never imports: blur degradations, sample photos, metrics, synthetic face clips."""
