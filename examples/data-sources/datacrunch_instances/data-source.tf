# The running kdevops nodes of this account.
data "datacrunch_instances" "kdevops" {
  status          = "running"
  hostname_prefix = "kdevops-"
}

output "kdevops_nodes" {
  value = {
    for i in data.datacrunch_instances.kdevops.instances :
    i.hostname => "${i.instance_type} in ${i.location}, ${i.ip}, ${i.price_per_hour}/h"
  }
}
