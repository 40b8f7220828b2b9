# Detached volumes still bill by the GB-month: list them to find forgotten ones.
data "datacrunch_volumes" "detached" {
  status = "detached"
}

output "detached_volumes" {
  value = {
    for v in data.datacrunch_volumes.detached.volumes :
    v.name => "${v.size} GB ${v.type} in ${v.location}"
  }
}
