"""mlops-cdk: AWS CDK constructs and app for an ML serving and retraining platform."""
