terraform {
  required_providers {
    datacrunch = {
      source  = "linux-kdevops/datacrunch"
      version = ">= 0.1.0"
    }
  }
}

# Credentials come from the environment (DATACRUNCH_CLIENT_ID and
# DATACRUNCH_CLIENT_SECRET) or from ~/.datacrunch/credentials, profile "default":
#
#   [default]
#   client_id = ...
#   client_secret = ...
#
# so no secret needs to appear in the configuration, the plan or the state.
provider "datacrunch" {
  # server_url = "https://api.verda.com/v1" # the rebranded service
  # profile    = "work"                     # another section of the credentials file
  poll_interval = "1s"
}
