// The few Node.js APIs the end-to-end helpers use, declared here because the project type-checks
// against the Workers types and has no @types/node.
// note: declarations, not an implementation; Node.js itself provides these modules at run time.

interface ImportMeta {
  readonly url: string
}

declare module 'node:process' {
  const process: {
    readonly env: Record<string, string | undefined>
    readonly execPath: string
    kill(pid: number, signal?: 'SIGTERM' | 'SIGKILL' | 0): true
  }
  export default process
}

declare module 'node:child_process' {
  type Chunk = { toString(encoding?: 'utf8'): string }
  type Output = { on(event: 'data', listener: (chunk: Chunk) => void): void }
  export type ChildProcess = {
    readonly pid?: number
    readonly exitCode: number | null
    readonly signalCode: string | null
    readonly stdout: Output
    readonly stderr: Output
  }
  export function spawn(
    command: string,
    args: readonly string[],
    options: {
      cwd: string
      env: Record<string, string | undefined>
      detached: boolean
      stdio: ['ignore', 'pipe', 'pipe']
    }
  ): ChildProcess
}

declare module 'node:fs/promises' {
  export function mkdtemp(prefix: string): Promise<string>
  export function mkdir(path: string, options: { recursive: true }): Promise<string | undefined>
  export function rm(path: string, options: { recursive: true; force: true }): Promise<void>
}

declare module 'node:os' {
  export function tmpdir(): string
}

declare module 'node:path' {
  export function join(...parts: string[]): string
}

declare module 'node:url' {
  export function fileURLToPath(url: string | URL): string
}

declare module 'node:http' {
  export type IncomingMessage = { readonly url?: string; readonly method?: string }
  export type ServerResponse = {
    writeHead(status: number, headers: Record<string, string>): void
    end(body?: string): void
  }
  export type Server = {
    listen(port: number, host: string, ready: () => void): void
    once(event: 'error', listener: (error: Error) => void): void
    close(done: (error?: Error) => void): void
    closeAllConnections(): void
  }
  export function createServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Server
}
