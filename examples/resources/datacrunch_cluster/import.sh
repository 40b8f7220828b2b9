# A cluster is imported by its id.
terraform import datacrunch_cluster.training 7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f
