"""Model zoo, training, export, quantisation and validation for edge targets."""
