// What a command gets from the world and how it answers: shared by every endpoint-guard command.
import { stringify } from 'yaml';

export const EXIT_OK = 0;
/** Something failed at run time (certificates, the port, a bug), or lint found what enforce rejects. */
export const EXIT_FAILURE = 1;
/** The command line, the configuration or an input is wrong; the message says how. */
export const EXIT_USAGE = 2;

export interface Io {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Standard input, for commands that read it (lint -); absent where there is none to give. */
  readonly stdin?: AsyncIterable<Uint8Array | string> | undefined;
  /** Whether stdout is a terminal (colour only for a person at one). */
  readonly stdoutIsTTY?: boolean | undefined;
  /** Whether stderr is a terminal (progress lines only for a person watching). */
  readonly stderrIsTTY?: boolean | undefined;
}

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

/** A command's string options, and its one-line usage error (exit 2) that points at its --help. */
export function commandArgs(command: string, values: Values, io: Io) {
  return {
    usage(message: string): number {
      io.stderr(`endpoint-guard ${command}: ${message}; run 'endpoint-guard ${command} --help'`);
      return EXIT_USAGE;
    },
    str: (name: string): string | undefined => (typeof values[name] === 'string' ? String(values[name]) : undefined),
  };
}

/**
 * YAML for kubectl and kustomize, which read YAML 1.1: written as 1.1, a string such as "off",
 * "yes" or "y" is quoted instead of turning into a boolean on the way in. No line folding.
 */
export const kubectlYaml = (value: unknown): string => stringify(value, { version: '1.1', lineWidth: 0 });
