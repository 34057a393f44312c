"""What leaves the practice: disclosure control, summaries, history, roll-up, DPIA evidence."""
