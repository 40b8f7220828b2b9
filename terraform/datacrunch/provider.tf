# The DataCrunch (Verda) provider, installed by `make bringup` into the project-local
# filesystem mirror .local/terraform/plugins (see docs/workflow.md): `terraform init`
# needs neither the network nor dev_overrides, and the lock file records a real checksum.
terraform {
  required_version = ">= 1.5.0"
  required_providers {
    datacrunch = {
      source  = "linux-kdevops/datacrunch"
      version = ">= 0.1.0"
    }
  }
}

# Credentials reach the provider as a file path and a profile name: the provider reads
# the secret itself, so it appears in no variable, plan or state file.
provider "datacrunch" {
  server_url       = var.datacrunch_server_url
  credentials_file = var.datacrunch_credentials_file
  profile          = var.datacrunch_credentials_profile
}
