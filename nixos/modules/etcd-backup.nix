# Periodic snapshot of the local etcd member with its own etcd client
# certificate; the newest `keep` snapshots are kept. Copying them off the host
# is left to the site's backup tool.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.homelab;
  backup = cfg.etcdBackup;
  plan = cfg.certPlan;
  cert = cfg.host.certificates.etcd-backup;
in
lib.mkIf (builtins.elem "etcd" cfg.host.components) {
  systemd.tmpfiles.rules = [ "d ${backup.directory} 0700 root root -" ];

  systemd.services.etcd-backup = {
    description = "Snapshot of the local etcd member";
    after = [ "etcd.service" ];
    requires = [ "etcd.service" ];
    path = [
      config.services.etcd.package
      pkgs.coreutils
      pkgs.findutils
    ];
    environment = {
      ETCDCTL_API = "3";
      ETCDCTL_ENDPOINTS = "https://127.0.0.1:${toString plan.cluster.ports.etcdClient}";
      ETCDCTL_CACERT = plan.caFiles.etcd;
      ETCDCTL_CERT = cert.files.cert.path;
      ETCDCTL_KEY = cert.files.key.path;
    };
    script = ''
      set -euo pipefail
      dir=${lib.escapeShellArg backup.directory}
      name="snapshot-$(date -u +%Y%m%dT%H%M%SZ).db"
      etcdctl snapshot save "$dir/.$name.partial"
      etcdutl snapshot status "$dir/.$name.partial" --write-out=table
      mv "$dir/.$name.partial" "$dir/$name"
      # Names sort by time; delete everything after the newest ${toString backup.keep}.
      find "$dir" -maxdepth 1 -name 'snapshot-*.db' -printf '%f\n' \
        | sort -r \
        | tail -n +${toString (backup.keep + 1)} \
        | while read -r old; do rm -f -- "$dir/$old"; done
    '';
    serviceConfig = {
      Type = "oneshot";
      UMask = "0077";
      PrivateTmp = true;
      ProtectSystem = "strict";
      ProtectHome = true;
      NoNewPrivileges = true;
      ReadWritePaths = [ backup.directory ];
    };
  };

  systemd.timers.etcd-backup = {
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnCalendar = backup.onCalendar;
      Persistent = true;
      RandomizedDelaySec = "10m";
    };
  };
}
