"""What a release card shows approvers: promotion rules, evaluation facts, the confusion matrix."""
