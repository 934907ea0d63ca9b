import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { checkRbac, rbacBlocks } from "./rbac-sync.js";

const UPSTREAM = `# upstream rbac.yaml
apiVersion: v1
kind: ServiceAccount
metadata: { name: csi-attacher }
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: external-attacher-runner
rules:
  # a comment upstream
  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["get", "list", "watch", "patch"]
  - apiGroups: ["storage.k8s.io"]
    resources: ["volumeattachments/status"]
    verbs: ["patch"]
`;

function template(
  rules: string,
  marker = "github.com/example/attacher/v4@v4.12.0 ClusterRole/external-attacher-runner",
): string {
  return `kind: ClusterRole
metadata:
  name: {{ include "x.fullname" . }}-attacher
rules:
  # BEGIN SIDECAR RBAC ${marker}
${rules}
  # END SIDECAR RBAC
  {{- with .Values.extra }}{{ toYaml . | nindent 2 }}{{ end }}
`;
}

const SAME = `  - apiGroups: [""]
    resources: ["persistentvolumes"]
    verbs: ["get", "list", "watch", "patch"]
  - apiGroups: ["storage.k8s.io"]
    resources: ["volumeattachments/status"]
    verbs: ["patch"]`;

let root: string;
let templates: string;
let moduleRoot: string;
const downloads: string[] = [];
const download = (module: string, version: string) => {
  downloads.push(`${module}@${version}`);
  return moduleRoot;
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "vsp-rbac-test-"));
  templates = join(root, "templates");
  moduleRoot = join(root, "module");
  mkdirSync(templates);
  mkdirSync(join(moduleRoot, "deploy", "kubernetes", "sub"), { recursive: true });
  writeFileSync(join(moduleRoot, "deploy", "kubernetes", "sub", "rbac.yaml"), UPSTREAM);
  downloads.length = 0;
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("sidecar RBAC blocks", () => {
  it("parses a marked block into its module, object and rules", () => {
    const [block] = rbacBlocks("t.yaml", template(SAME));
    expect(block).toMatchObject({
      module: "github.com/example/attacher/v4",
      version: "v4.12.0",
      kind: "ClusterRole",
      name: "external-attacher-runner",
      line: 5,
    });
    expect(block?.rules).toHaveLength(2);
  });

  it("passes rules equal to the module's, however they are formatted", () => {
    const flow = SAME.replace('["get", "list", "watch", "patch"]', "[get, list, watch, patch]");
    writeFileSync(join(templates, "rbac-attacher.yaml"), template(flow));
    const [result] = checkRbac(templates, download);
    expect(result?.problem).toBeUndefined();
    expect(downloads).toEqual(["github.com/example/attacher/v4@v4.12.0"]);
  });

  it.each([
    ["a verb removed", SAME.replace('"watch", ', ""), "rules differ"],
    [
      "a rule added",
      `${SAME}\n  - apiGroups: [""]\n    resources: ["secrets"]\n    verbs: ["get"]`,
      "rules differ",
    ],
    [
      "rules reordered",
      SAME.split("\n").slice(3).concat(SAME.split("\n").slice(0, 3)).join("\n"),
      "rules differ",
    ],
  ])("fails on %s", (_what, rules, expected) => {
    writeFileSync(join(templates, "rbac-attacher.yaml"), template(rules));
    expect(checkRbac(templates, download)[0]?.problem).toContain(expected);
  });

  it("fails when the module has no such object", () => {
    writeFileSync(
      join(templates, "rbac.yaml"),
      template(SAME, "github.com/example/attacher/v4@v4.12.0 Role/external-attacher-cfg"),
    );
    expect(checkRbac(templates, download)[0]?.problem).toContain("Role/external-attacher-cfg not found");
  });

  it("refuses a block without END or with template code inside", () => {
    expect(() => rbacBlocks("t.yaml", template(SAME).replace("  # END SIDECAR RBAC\n", ""))).toThrow(
      /without END/,
    );
    expect(() => rbacBlocks("t.yaml", template(`${SAME}\n  {{- toYaml .Values.x }}`))).toThrow(
      /template code/,
    );
  });
});
