import { describe, expect, it } from "vitest";

import type { JsonObject } from "./schema-index.js";
import type { Located } from "./semantic.js";
import { durationSeconds, wiringProblems } from "./wiring.js";

const CONTROLLER_CONFIG = `driverName: csi.example.dev
arrays:
  - name: vsp1
    url: https://vsp1.example.com
    storageDeviceId: "886000123456"
    credentials: { secretDir: /etc/vsp-csi/arrays/vsp1/credentials }
    caBundle: /etc/vsp-csi/arrays/vsp1/ca/ca.crt
    defaultPoolId: 0
    targetPorts: [CL1-A]
    transport: fc
controller: { operationTimeoutSeconds: 100 }
`;

interface Options {
  config?: string;
  secretItems?: JsonObject[];
  sidecarArgs?: string[];
  driverEnv?: JsonObject[];
  mode?: string;
}

/** A controller-like Deployment, its ConfigMap and a StorageClass, wired correctly by default. */
function render(o: Options = {}): Located[] {
  const mode = o.mode ?? "controller";
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cfg" },
    data: { "controller.yaml": o.config ?? CONTROLLER_CONFIG },
  };
  const driver: JsonObject = {
    name: "vsp-csi",
    args: [mode, "--config=/etc/vsp-csi/config/controller.yaml", "--endpoint=unix:///csi/csi.sock"],
    env: o.driverEnv ?? [],
    volumeMounts: [
      { name: "socket", mountPath: "/csi" },
      { name: "config", mountPath: "/etc/vsp-csi/config" },
      { name: "creds", mountPath: "/etc/vsp-csi/arrays/vsp1/credentials" },
      { name: "ca", mountPath: "/etc/vsp-csi/arrays/vsp1/ca" },
    ],
  };
  const sidecar: JsonObject = {
    name: "csi-provisioner",
    args: o.sidecarArgs ?? ["--csi-address=/csi/csi.sock", "--timeout=300s"],
    volumeMounts: [{ name: "socket", mountPath: "/csi" }],
  };
  const deployment: JsonObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "controller" },
    spec: {
      template: {
        spec: {
          containers: [driver, sidecar],
          volumes: [
            { name: "socket", emptyDir: {} },
            {
              name: "config",
              configMap: { name: "cfg", items: [{ key: "controller.yaml", path: "controller.yaml" }] },
            },
            {
              name: "creds",
              secret: {
                secretName: "s",
                items: o.secretItems ?? [
                  { key: "username", path: "username" },
                  { key: "password", path: "password" },
                ],
              },
            },
            { name: "ca", configMap: { name: "users-own-ca" } },
          ],
        },
      },
    },
  };
  const sc = {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "sc" },
    provisioner: "csi.example.dev",
  };
  return [
    { id: "cm", object: configMap },
    { id: "deploy", object: deployment },
    { id: "sc", object: sc },
  ];
}

async function messages(objects: Located[]): Promise<string> {
  const found = await wiringProblems(objects);
  return [...found.values()]
    .flat()
    .map((p) => p.message)
    .join("\n");
}

describe("wiringProblems: the driver's loader over the pod's mounts", () => {
  it("accepts a pod whose config, credentials, CA and socket resolve", async () => {
    expect(await messages(render())).toBe("");
  });

  it.each<[string, Options, string]>([
    [
      "a credentials Secret that does not project password",
      { secretItems: [{ key: "username", path: "username" }] },
      "credentials/password: file not found",
    ],
    [
      "a configuration the driver refuses",
      { config: CONTROLLER_CONFIG.replace("transport: fc", "transport: nvme") },
      "arrays[0].transport",
    ],
    [
      "a configuration key the driver does not know",
      { config: `${CONTROLLER_CONFIG}logLevl: info\n` },
      "logLevl",
    ],
    [
      "a sidecar on another socket",
      { sidecarArgs: ["--csi-address=/csi/other.sock", "--timeout=300s"] },
      "is not the driver's /csi/csi.sock",
    ],
    [
      "a sidecar timeout inside the driver's budget",
      { sidecarArgs: ["--csi-address=/csi/csi.sock", "--timeout=90s"] },
      "--timeout=90s must be longer than operationTimeoutSeconds 100",
    ],
    [
      "an unparsable sidecar timeout",
      { sidecarArgs: ["--csi-address=/csi/csi.sock", "--timeout=5 minutes"] },
      "--timeout=5 minutes must be longer",
    ],
    ["a node plugin without its node name", { mode: "node" }, "VSP_CSI_NODE_ID from spec.nodeName"],
    [
      "an environment variable the driver does not know",
      { driverEnv: [{ name: "VSP_CSI_LOGLEVEL", value: "x" }] },
      "VSP_CSI_LOGLEVEL: unknown variable",
    ],
  ])("reports %s", async (_what, options, expected) => {
    expect(await messages(render(options))).toContain(expected);
  });

  it("reports a config file that is not mounted", async () => {
    const objects = render();
    const deploy = objects[1]?.object as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const driver = deploy.spec.template.spec.containers[0];
    if (driver) driver.args[1] = "--config=/etc/elsewhere/controller.yaml";
    expect(await messages(objects)).toContain("cannot read /etc/elsewhere/controller.yaml: file not found");
  });

  it("reports classes that name another driver", async () => {
    const objects = render();
    objects.push({
      id: "vsc",
      object: { kind: "VolumeSnapshotClass", metadata: { name: "v" }, driver: "csi.other.dev" },
    });
    expect(await messages(objects)).toContain('"csi.other.dev" is not the driver name csi.example.dev');
  });
});

/** A node-plugin-like DaemonSet; `hostRoot`/`stateDir` go to its config, `hostPaths` are its mounts. */
function renderNode(config: string, hostPaths: Record<string, string>): Located[] {
  const mounts = Object.keys(hostPaths).map((at, i) => ({ name: `h${i}`, mountPath: at }));
  const volumes = Object.values(hostPaths).map((path, i) => ({ name: `h${i}`, hostPath: { path } }));
  const daemonSet: JsonObject = {
    kind: "DaemonSet",
    metadata: { name: "node" },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: "vsp-csi",
              args: ["node", "--config=/etc/vsp-csi/config/node.yaml"],
              env: [{ name: "VSP_CSI_NODE_ID", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
              volumeMounts: [{ name: "config", mountPath: "/etc/vsp-csi/config" }, ...mounts],
            },
          ],
          volumes: [{ name: "config", configMap: { name: "cfg" } }, ...volumes],
        },
      },
    },
  };
  const configMap: JsonObject = {
    kind: "ConfigMap",
    metadata: { name: "cfg" },
    data: { "node.yaml": config },
  };
  return [
    { id: "cm", object: configMap },
    { id: "ds", object: daemonSet },
  ];
}

describe("wiringProblems: the node plugin's host paths", () => {
  const good = "node: { hostRoot: /host, stateDir: /var/lib/kubelet/plugins/x/node-state }\n";
  const mounts = {
    "/csi": "/var/lib/kubelet/plugins/x",
    "/host": "/",
    "/var/lib/kubelet": "/var/lib/kubelet",
  };

  it("accepts the host's root at hostRoot and stage records on a host path", async () => {
    expect(await messages(renderNode(good, mounts))).toBe("");
  });

  it.each<[string, string, Record<string, string>, string]>([
    [
      "a hostRoot that is the container's own root",
      "node: { stateDir: /var/lib/kubelet/x }\n",
      mounts,
      "node.hostRoot / is not a mount of the host's /",
    ],
    [
      "a hostRoot mounted from elsewhere",
      good,
      { ...mounts, "/host": "/etc" },
      "node.hostRoot /host is not a mount of the host's /",
    ],
    [
      "stage records in the container",
      "node: { hostRoot: /host, stateDir: /var/lib/vsp-csi }\n",
      mounts,
      "node.stateDir /var/lib/vsp-csi is not on a host path",
    ],
    [
      "the default stateDir with a kubelet directory elsewhere",
      "node: { hostRoot: /host }\n",
      { "/host": "/", "/var/lib/k0s/kubelet": "/var/lib/k0s/kubelet" },
      "node.stateDir /var/lib/kubelet/plugins/csi.vsp-csi.dev/node-state is not on a host path",
    ],
  ])("reports %s", async (_what, config, hostPaths, expected) => {
    expect(await messages(renderNode(config, hostPaths))).toContain(expected);
  });
});

describe("durationSeconds", () => {
  it.each<[string, number | undefined]>([
    ["300s", 300],
    ["2m", 120],
    ["1m30s", 90],
    ["1h", 3600],
    ["500ms", 0.5],
    ["300", undefined],
    ["5 minutes", undefined],
    ["", undefined],
  ])("%s → %s", (text, seconds) => {
    expect(durationSeconds(text)).toBe(seconds);
  });
});
