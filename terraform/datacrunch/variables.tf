# Inputs, written by `kdevops-datacrunch bringup` into terraform.tfvars.json from .config.

variable "datacrunch_server_url" {
  description = "API base URL, e.g. https://api.datacrunch.io/v1 or the local emulator's URL"
  type        = string
}

variable "datacrunch_credentials_file" {
  description = "INI credentials file (client_id, client_secret) read by the provider itself"
  type        = string
}

variable "datacrunch_credentials_profile" {
  description = "Section of the credentials file to use"
  type        = string
  default     = "default"
}

variable "datacrunch_nodes" {
  description = "Node name => instance type, location and image. Per node, so a capacity fallback moves one node without touching the others, and a running node keeps what it was created with when .config changes. Empty when only the SSH key is left to manage (a destroy after the nodes are gone)."
  type = map(object({
    instance_type = string
    location      = string
    image         = string
    # RFC 3339 expiry, the instance tag kdevops-expires-at; "" for none.
    expires_at = optional(string, "")
  }))
}

variable "datacrunch_image" {
  description = "OS image type (e.g. ubuntu-24.04-cuda-12.8-open-docker) or image UUID that .config asks for (new nodes get it; see datacrunch_nodes)"
  type        = string
}

variable "datacrunch_is_spot" {
  description = "Create spot instances"
  type        = bool
  default     = false
}

variable "datacrunch_keep_volumes" {
  description = "Keep (detach) OS volumes when a node is destroyed instead of deleting them"
  type        = bool
  default     = false
}

variable "datacrunch_startup_script" {
  description = "A script every node runs once at first boot (empty: none)"
  type        = string
  default     = ""
}

variable "datacrunch_ssh_key_name" {
  description = "Name of the SSH key uploaded for this project (UNIQUE mode)"
  type        = string
}

variable "datacrunch_ssh_key_id" {
  description = "ID of an SSH key already in the account (MANUAL mode); empty uploads datacrunch_ssh_public_key"
  type        = string
  default     = ""
}

variable "datacrunch_ssh_public_key" {
  description = "OpenSSH public key uploaded in UNIQUE mode"
  type        = string
  default     = ""
}

variable "datacrunch_project_id" {
  description = "This project's id (from .local/project-id), the value of every instance's kdevops-project tag, so the workflow finds its own instances through the API even when the Terraform state is lost, and never takes anyone else's"
  type        = string
}

variable "ssh_config_user" {
  description = "Login user of the image"
  type        = string
  default     = "root"
}
