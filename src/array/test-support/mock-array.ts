/**
 * An array that is not there: an undici MockAgent answering the session login and logout of one
 * storage device, with network access disabled. Tests add the intercepts their case needs.
 */
import { MockAgent } from "undici";

export const SID = "886000123456";
export const ORIGIN = "http://array.test:443";
export const ROOT = `/ConfigurationManager/v1/objects/storages/${SID}`;
export const LOCK_PATH = `/ConfigurationManager/v1/${SID}/services/resource-group-service/actions/lock/invoke`;
export const JSON_HEADERS = { "content-type": "application/json" };

export function mockArray(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(ORIGIN);
  pool
    .intercept({ path: `${ROOT}/sessions`, method: "POST" })
    .reply(200, { token: "tok-1", sessionId: 7 }, { headers: JSON_HEADERS });
  pool
    .intercept({ path: `${ROOT}/sessions/7`, method: "DELETE" })
    .reply(200, { sessionId: 7 }, { headers: JSON_HEADERS });
  return agent;
}
