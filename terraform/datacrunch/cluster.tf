# Cluster mode (CONFIG_TERRAFORM_DATACRUNCH_CLUSTER=y): one cluster instead of the
# instances of main.tf (datacrunch_nodes is then empty). Its workers are reached
# through its jump host (`ip`); `cluster` below feeds the ssh config and inventory.

variable "datacrunch_cluster" {
  description = "The one cluster of cluster mode; null for single instances"
  type = object({
    hostname         = string
    cluster_type     = string
    image            = string
    location         = optional(string)
    shared_volume_gb = number
    # RFC 3339 expiry, the cluster tag kdevops-expires-at; "" for none.
    expires_at = optional(string, "")
  })
  default = null
}

resource "datacrunch_cluster" "kdevops" {
  count = var.datacrunch_cluster == null ? 0 : 1

  hostname      = var.datacrunch_cluster.hostname
  description   = "kdevops cluster ${var.datacrunch_cluster.hostname}"
  cluster_type  = var.datacrunch_cluster.cluster_type
  image         = var.datacrunch_cluster.image
  location_code = var.datacrunch_cluster.location
  ssh_key_ids   = [local.ssh_key_id]
  # A script change replaces the cluster (scripts run at first boot only).
  startup_script_id = var.datacrunch_startup_script != "" ? datacrunch_startup_script.kdevops[0].id : null

  shared_volume = {
    name = "${var.datacrunch_cluster.hostname}-home"
    size = var.datacrunch_cluster.shared_volume_gb
  }

  # The project mark and the expiry, as on instances: destroy finds this project's
  # cluster through the API even when the state is lost, and `reap` deletes it once
  # expired from any checkout. Tags change in place: `make extend` never replaces it.
  tags = merge(
    { "kdevops-project" = var.datacrunch_project_id },
    var.datacrunch_cluster.expires_at == "" ? {} : { "kdevops-expires-at" = var.datacrunch_cluster.expires_at },
  )

  timeouts {
    create = "60m"
    delete = "10m"
  }
}

output "cluster" {
  description = "The cluster of cluster mode (null without one): jump host, workers, cost"
  value = length(datacrunch_cluster.kdevops) == 0 ? null : {
    id             = datacrunch_cluster.kdevops[0].id
    hostname       = datacrunch_cluster.kdevops[0].hostname
    ip             = datacrunch_cluster.kdevops[0].ip
    status         = datacrunch_cluster.kdevops[0].status
    cluster_type   = datacrunch_cluster.kdevops[0].cluster_type
    location       = datacrunch_cluster.kdevops[0].location
    price_per_hour = datacrunch_cluster.kdevops[0].price_per_hour
    workers = [
      for w in datacrunch_cluster.kdevops[0].worker_nodes : {
        id         = w.id
        hostname   = w.hostname
        private_ip = w.private_ip
        status     = w.status
      }
    ]
  }
}
