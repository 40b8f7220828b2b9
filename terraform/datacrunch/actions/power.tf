# Power actions per node (Terraform 1.14+), invoked by `make power-off` / `make power-on`
# as `terraform apply -invoke='action.datacrunch_instance_power.off["NODE"]'`. This file
# lives outside the module directory because older Terraform cannot parse an `action`
# block: kdevops-datacrunch copies it in for the invocation only, and only when the
# Terraform it runs is 1.14 or later.
#
# A shut-down node still bills until it is deleted (DataCrunch keeps its GPUs reserved):
# power-off saves nothing, only `make destroy` stops the billing.

action "datacrunch_instance_power" "off" {
  for_each = datacrunch_instance.kdevops
  config {
    instance_id = each.value.id
    action      = "shutdown"
  }
}

action "datacrunch_instance_power" "on" {
  for_each = datacrunch_instance.kdevops
  config {
    instance_id = each.value.id
    action      = "start"
  }
}
