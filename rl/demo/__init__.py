"""The embedded CPU demo: SFT warm start, then R1-Zero vs "don't overthink" RL, evaluated and plotted."""
