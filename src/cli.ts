#!/usr/bin/env node
/**
 * vsp-csi: one executable, sub-commands per role.
 *   controller | node | all   the CSI driver
 *   simulator                 the embedded VSP REST API
 *   demo                      snapshots, restore and clone end to end on the embedded simulator
 */
import { DEMO_USAGE, runDemoCommand } from "./cli/demo-command.js";
import { runDriverCommand } from "./cli/driver-command.js";
import { SIMULATOR_USAGE, runSimulatorCommand } from "./cli/simulator-command.js";
import { UsageError } from "./cli/usage-error.js";
import { ConfigError } from "./config/index.js";

const USAGE = `Usage: vsp-csi <command> [options]

Commands:
  controller   the CSI controller plugin (Identity + Controller services)
  node         the CSI node plugin (Identity + Node services)
  all          both in one process; add --embedded-simulator to run against a simulated array
  simulator    the embedded VSP Configuration Manager REST API simulator
  demo         snapshot, restore and clone with checksums, on the embedded simulator

Driver options (also from a config file, --config, and VSP_CSI_* variables):
  --config <file>  --endpoint unix:///path|tcp://host:port  --driver-name <name>
  --node-id <name>  --log-level <level>  --set <key.path>=<value>

Run "vsp-csi simulator --help" or "vsp-csi demo --help" for their options.`;

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        resolve(signal);
      });
    }
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case "simulator": {
      if (rest.includes("--help")) {
        console.log(SIMULATOR_USAGE);
        return 0;
      }
      const { simulator, running } = await runSimulatorCommand(rest);
      const { storageDeviceId, username, dataDir } = simulator.core.config;
      console.log(`VSP simulator listening on ${running.url}/ConfigurationManager/v1`);
      console.log(`  storage device id ${storageDeviceId}, user ${username}, data in ${dataDir}`);
      if (running.certPath) console.log(`  TLS certificate (use as CA bundle): ${running.certPath}`);
      console.log(`  admin (faults, request log, LDEV data): ${running.url}/simulator/`);
      await waitForSignal();
      await running.close();
      return 0;
    }
    case "controller":
    case "node":
    case "all": {
      const driver = await runDriverCommand(command, rest);
      if (driver.simulator) {
        const socket = driver.server.address;
        console.error(`vsp-csi ${command}: CSI endpoint ${socket}`);
        console.error(
          `  simulated VSP at ${driver.simulator.url}/ConfigurationManager/v1 (data in .vsp-sim)`,
        );
        console.error(`  try: csi-sanity --csi.endpoint ${socket} --csi.testvolumesize 1073741824`);
      }
      await waitForSignal();
      await driver.stop();
      return 0;
    }
    case "demo": {
      if (rest.includes("--help")) {
        console.log(DEMO_USAGE);
        return 0;
      }
      return runDemoCommand(rest);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`vsp-csi: ${err.message}`);
      process.exitCode = 2;
    } else if (err instanceof UsageError) {
      console.error(`vsp-csi: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
