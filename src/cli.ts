#!/usr/bin/env node
/**
 * vsp-csi: one executable, sub-commands per role.
 *   simulator   the embedded VSP REST API (this release)
 *   controller | node | all   the CSI driver (see README)
 */
import { SIMULATOR_USAGE, runSimulatorCommand } from "./cli/simulator-command.js";
import { UsageError } from "./cli/usage-error.js";

const USAGE = `Usage: vsp-csi <command> [options]

Commands:
  simulator    run the embedded VSP Configuration Manager REST API simulator

Run "vsp-csi <command> --help" for a command's options.`;

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
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`vsp-csi: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
