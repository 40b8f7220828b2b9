# The contract with kdevops: controller_ip_map feeds the ssh config and the inventory.

output "controller_ip_map" {
  description = "Node name => public IP"
  value       = { for name, node in datacrunch_instance.kdevops : name => node.ip }
}

output "instance_details" {
  description = "Node name => what was created, where, and what it costs per hour"
  value = {
    for name, node in datacrunch_instance.kdevops : name => {
      id             = node.id
      ip             = node.ip
      status         = node.status
      os_volume_id   = node.os_volume_id
      instance_type  = node.instance_type
      location       = node.location
      price_per_hour = node.price_per_hour
      created_at     = node.created_at
    }
  }
}

output "datacrunch_info" {
  description = "Settings shared by all nodes"
  value = {
    server_url     = var.datacrunch_server_url
    image          = var.datacrunch_image
    ssh_user       = var.ssh_config_user
    is_spot        = var.datacrunch_is_spot
    instance_types = { for name, node in var.datacrunch_nodes : name => node.instance_type }
    locations      = { for name, node in datacrunch_instance.kdevops : name => node.location }
  }
}
