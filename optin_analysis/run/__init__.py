"""Running the monthly job: the batch of practices and the command line."""
