"""One ComponentResource per registry target, plus the settings and image build they share."""
