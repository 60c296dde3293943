import { z } from 'zod';

/** The `voxline` command line: where the API is and whose key to use. Flags override both. */
export const cliEnv = z.object({
  // The API that `voxline` talks to; `voxline start` serves one at http://HOST:PORT.
  VOXLINE_API_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3000'),
  // A tenant's API key (`vxl_…`), as printed once by `voxline tenants create`.
  VOXLINE_API_KEY: z.string().min(1).optional(),
});
