resource "datacrunch_startup_script" "setup" {
  name   = "install-build-deps"
  script = <<-EOT
    #!/bin/bash
    apt-get update && apt-get install -y build-essential flex bison
  EOT
}
