/**
 * Storage ports (reference §7 "Ports"): `GET /ports[?portType&portAttributes&detailInfoType]`,
 * `GET /ports/{portId}`, and `PATCH /ports/{portId}` for the port settings Cinder checks
 * (lunSecuritySetting, fabricMode, portConnection) and the iSCSI portal.
 */
import { z } from "zod";

import { invalidParameter, missingParameter } from "../../errors.js";
import type { RequestContext, RouteTable } from "../../routing.js";
import { parseWith } from "../../routing.js";
import type { PortState } from "../../state.js";
import { detailTypes, isIscsiPort, requirePort } from "./common.js";

/**
 * One port as the array shows it. FC ports carry the target `wwn` and the fabric settings Cinder's
 * FC connector checks (CIN-FC `connect_storage`); the iSCSI portal (`ipv4Address`, `tcpPort`) is
 * shown only by the single-port GET, which is where Cinder reads it (CIN-ISCSI `_set_target_portal`).
 */
export function portView(port: PortState, single: boolean, details: Set<string>): Record<string, unknown> {
  const view: Record<string, unknown> = {
    portId: port.portId,
    portType: port.portType,
    portAttributes: [...port.portAttributes],
    portSpeed: port.portSpeed,
    lunSecuritySetting: port.lunSecuritySetting,
  };
  if (isIscsiPort(port)) {
    view.fabricMode = false;
    if (single) Object.assign(view, iscsiPortal(port));
  } else {
    // sim: loop id EF (the FC-AL default) — the array reports one even in point-to-point mode.
    Object.assign(view, {
      loopId: "EF",
      fabricMode: port.fabricMode,
      portConnection: port.portConnection,
      wwn: port.wwn,
    });
  }
  // sim: every simulated port runs in SCSI mode; no host ever logs in to a simulated port.
  if (details.has("portMode")) view.portMode = "SCSI";
  if (details.has("logins")) view.logins = [];
  return view;
}

/** sim: network settings besides address and TCP port are fixed, plausible values. */
function iscsiPortal(port: PortState): Record<string, unknown> {
  return {
    ipv4Address: port.ipv4Address,
    ipv4Subnetmask: "255.255.255.0",
    ipv4GatewayAddress: "0.0.0.0",
    ipv6Mode: "disable",
    tcpPort: port.tcpPort,
    mtu: 1500,
    keepAliveTimer: 60,
    selectiveAckMode: true,
    delayedAckMode: true,
    isIpv6Enable: false,
  };
}

function listPorts(ctx: RequestContext): { data: Record<string, unknown>[] } {
  const type = ctx.query.get("portType");
  const attribute = ctx.query.get("portAttributes");
  const details = detailTypes(ctx.query);
  const ports = ctx.sim.state.ports
    .filter((p) => type === null || p.portType === type)
    .filter((p) => attribute === null || p.portAttributes.includes(attribute));
  return { data: ports.map((p) => portView(p, false, details)) };
}

const PORT_SPEEDS = ["AUT", "1G", "2G", "4G", "8G", "10G", "16G", "25G", "32G", "64G", "100G"] as const;

const patchPortBody = z
  .object({
    lunSecuritySetting: z.boolean().optional(),
    portSpeed: z.enum(PORT_SPEEDS).optional(),
    fabricMode: z.boolean().optional(),
    portConnection: z.enum(["FCAL", "PtoP"]).optional(),
    ipv4Address: z.ipv4().optional(),
    tcpPort: z.number().int().min(1).max(65535).optional(),
  })
  .loose();

type PortPatch = z.infer<typeof patchPortBody>;

const FC_ONLY = ["fabricMode", "portConnection"] as const;
const ISCSI_ONLY = ["ipv4Address", "tcpPort"] as const;

function applyPortPatch(port: PortState, body: PortPatch): void {
  const wrongKind = isIscsiPort(port) ? FC_ONLY : ISCSI_ONLY;
  for (const key of wrongKind) {
    if (body[key] !== undefined) {
      throw invalidParameter(key, `cannot be set on a ${port.portType} port`);
    }
  }
  if (body.lunSecuritySetting !== undefined) port.lunSecuritySetting = body.lunSecuritySetting;
  if (body.portSpeed !== undefined) port.portSpeed = body.portSpeed;
  if (body.fabricMode !== undefined) port.fabricMode = body.fabricMode;
  if (body.portConnection !== undefined) port.portConnection = body.portConnection;
  if (body.ipv4Address !== undefined) port.ipv4Address = body.ipv4Address;
  if (body.tcpPort !== undefined) port.tcpPort = body.tcpPort;
}

export function registerPortRoutes(routes: RouteTable): void {
  routes.get("/ports", listPorts);

  routes.get("/ports/:portId", (ctx) => {
    const port = requirePort(ctx.sim.state, ctx.params.portId ?? "");
    return portView(port, true, detailTypes(ctx.query));
  });

  routes.modify("/ports/:portId", (ctx) => {
    const port = requirePort(ctx.sim.state, ctx.params.portId ?? "");
    const body = parseWith(patchPortBody, ctx.body);
    const known = [...FC_ONLY, ...ISCSI_ONLY, "lunSecuritySetting", "portSpeed"] as const;
    if (known.every((k) => body[k] === undefined)) throw missingParameter("lunSecuritySetting");
    applyPortPatch(port, body);
    return [ctx.link("ports", port.portId)];
  });
}
