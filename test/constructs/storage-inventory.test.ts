// The storage section of inventory/<cluster>.json: what the democratic-csi app is built from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driverConfigDocument, type TrueNasDriverConfig } from '../../constructs/storage/driver-config.js';
import { InventoryError, type InventoryIssue } from '../../framework/cluster.js';
import { parseInventory } from '../../inventory/schema.js';
import { projectRoot } from '../helpers/io.js';

// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw JSON freely
const shipped = (): any => JSON.parse(readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8'));

function issuesOf(data: unknown): readonly InventoryIssue[] {
  try {
    parseInventory(data, 'k8s-235');
  } catch (error) {
    if (error instanceof InventoryError) return error.issues;
    throw error;
  }
  throw new Error('expected parseInventory to throw an InventoryError');
}

describe('the storage inventory', () => {
  it('lists the default cluster three drivers and their classes', () => {
    const storage = parseInventory(shipped(), 'k8s-235').storage;
    expect(storage.drivers?.map((d) => [d.releaseName, d.config.driver, d.csiDriverName, d.storageClasses?.map((c) => c.name)])).toEqual([
      ['nfs', 'freenas-nfs', 'org.democratic-csi.nfs', ['freenas-nfs-csi']],
      ['iscsi', 'freenas-iscsi', 'org.democratic-csi.iscsi', ['freenas-iscsi-csi']],
      ['nfs-spitfire-fast', 'freenas-nfs', 'org.democratic-csi.nfs-spitfire-fast', ['truenas-nfs-spitfire-fast']],
    ]);
  });

  it("parses each driver into the construct's model: the NAS shared, NFS shares and defaults from the construct", () => {
    const [nfs, iscsi] = parseInventory(shipped(), 'k8s-235').storage.drivers ?? [];
    expect(iscsi).toEqual({
      releaseName: 'iscsi',
      csiDriverName: 'org.democratic-csi.iscsi',
      config: {
        driver: 'freenas-iscsi',
        truenas: { host: 'spitfire.235.tdude.co', protocol: 'https', port: 443, ssh: { port: 22, username: 'root' } },
        datasets: { volumes: 'spitfire/iscsi235', snapshots: 'spitfire/k8s-235/iscsi-snapshots' },
        iscsi: {
          portal: 'spitfire.storage.235.tdude.co:3260',
          namePrefix: 'csi-',
          nameSuffix: '-cluster',
          targetGroups: [{ portalGroup: 1, initiatorGroup: 1, authType: 'None' }],
          zvol: { blocksize: '16K' },
          extent: { blocksize: 4096 },
        },
      },
      storageClasses: [
        {
          name: 'freenas-iscsi-csi',
          fsType: 'xfs',
          reclaimPolicy: 'Retain',
          volumeBindingMode: 'Immediate',
          allowVolumeExpansion: true,
          default: false,
          mountOptions: [],
        },
      ],
      snapshotClasses: [{ name: 'freenas-iscsi-csi', deletionPolicy: 'Retain' }],
    });
    expect(nfs?.config).toMatchObject({ driver: 'freenas-nfs', nfs: { shareHost: 'spitfire.storage.235.tdude.co' } });
    // Without api and ssh, the inventory says nothing the construct does not default to.
    const data = shipped();
    delete data.storage.truenas.api;
    delete data.storage.truenas.ssh;
    const bare = parseInventory(data, 'k8s-235').storage.drivers?.[1];
    expect(bare?.config.truenas).toEqual({ host: 'spitfire.235.tdude.co' });
    expect(driverConfigDocument(bare?.config as TrueNasDriverConfig)).toEqual(driverConfigDocument(iscsi?.config as TrueNasDriverConfig));
  });

  it('is optional beyond the NAS itself', () => {
    const data = shipped();
    data.storage = { truenas: { host: 'nas.example.org', storageHost: 'nas.storage.example.org' } };
    // Monitoring keeps its TSDB on a class of a driver: without drivers, there is none.
    delete data.monitoring;
    for (const field of Object.keys(data.examples)) if (field.startsWith('monitoring.')) delete data.examples[field];
    expect(parseInventory(data, 'k8s-235').storage).toEqual(data.storage);
  });

  it('reports bad drivers, classes and iSCSI settings with their JSON paths', () => {
    const data = shipped();
    const [nfs, iscsi] = data.storage.drivers;
    nfs.driver = 'freenas-smb';
    nfs.storageClasses[0].default = 'no';
    nfs.iscsi = iscsi.iscsi;
    delete iscsi.iscsi.portal;
    iscsi.iscsi.extentBlocksize = 3000;
    iscsi.storageClasses[0].name = 'freenas-nfs-csi';
    // The TSDB's class is renamed away here; that check has its own test.
    delete data.monitoring;
    for (const field of Object.keys(data.examples)) if (field.startsWith('monitoring.')) delete data.examples[field];
    iscsi.csiDriverName = 'org.democratic-csi.nfs';
    expect(issuesOf(data)).toEqual([
      {
        path: 'storage.drivers[0].driver',
        message: '"freenas-smb" is not one of freenas-nfs, freenas-iscsi, freenas-api-nfs, freenas-api-iscsi',
      },
      { path: 'storage.drivers[0].iscsi.portal', message: 'is required (a string)' },
      { path: 'storage.drivers[0].iscsi.extentBlocksize', message: 'must be 512, 1024, 2048 or 4096' },
      { path: 'storage.drivers[0].storageClasses[0].default', message: 'must be true or false' },
      // A check between a driver's fields follows the fields' own issues.
      { path: 'storage.drivers[0].iscsi', message: 'only the iSCSI drivers take iSCSI settings (driver is freenas-smb)' },
      { path: 'storage.drivers[1].iscsi.portal', message: 'is required (a string)' },
      { path: 'storage.drivers[1].iscsi.extentBlocksize', message: 'must be 512, 1024, 2048 or 4096' },
      {
        path: 'storage.drivers[1].csiDriverName',
        message: 'CSI driver name "org.democratic-csi.nfs" is also used at storage.drivers[0].csiDriverName',
      },
      {
        path: 'storage.drivers[1].storageClasses[0].name',
        message: 'StorageClass "freenas-nfs-csi" is also used at storage.drivers[0].storageClasses[0].name',
      },
    ]);
  });

  it('requires the iSCSI settings of an iSCSI driver', () => {
    const data = shipped();
    delete data.storage.drivers[1].iscsi;
    expect(issuesOf(data)).toContainEqual({ path: 'storage.drivers[1].iscsi', message: 'is required (an object)' });
  });
});
