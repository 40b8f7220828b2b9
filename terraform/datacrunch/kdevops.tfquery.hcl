# `terraform query` (Terraform 1.14+): this project's instances, found by the project tag
# the module puts on each node. `kdevops-datacrunch adopt` lists the ones Terraform's
# state lacks (left by a crashed run) and imports them. Older Terraform ignores this file.

list "datacrunch_instance" "project" {
  provider = datacrunch
  config {
    tag = { "kdevops-project" = var.datacrunch_project_id }
  }
}
