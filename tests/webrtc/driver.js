#!/usr/bin/env node
// driver.js: the WebRTC end-to-end test of turnd in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core, which never downloads a browser here).
//
//   node driver.js --turn HOST:PORT [--user NAME] [--password PW] [--timeout SEC] STEP...
//
// STEP is one of
//   udp    two RTCPeerConnections in one page, iceTransportPolicy "relay", turn:HOST:PORT?transport=udp:
//          they connect, a data channel carries N messages each way, a fake camera track flows, and
//          getStats() shows the selected pair relay/relay with relayProtocol "udp"
//   tcp    the same with ?transport=tcp (relayProtocol "tcp")
//   tls    the same through turns:HOST:PORT?transport=tcp of --turns (relayProtocol "tls"); the
//          certificate must be one Chromium trusts (the test puts its CA in an NSS db under $HOME)
//   srflx  one connection gathers from stun:127.0.0.1:FWD, a UDP forwarder here relaying to turnd:
//          the srflx candidate must be the forwarder's own address toward turnd
// The page is served by a tiny HTTP server here, on loopback. Each step is bounded by --timeout
// (60 s by default), and the whole run too. Exit 0 when every step passed, 1 otherwise.
"use strict";

const dgram = require("dgram");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const MESSAGES = 100;

function usage(msg) {
	if (msg)
		console.error("driver: " + msg);
	console.error("usage: node driver.js --turn HOST:PORT [--user NAME] [--password PW] " +
	    "[--timeout SEC] [--turns HOST:PORT] udp|tcp|tls|srflx ...");
	process.exit(2);
}

function parseArgs(argv) {
	const o = { turn: null, turns: null, user: "test", password: "test", timeout: 60, steps: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length)
				usage(a + " needs a value");
			return argv[++i];
		};
		if (a === "--turn")
			o.turn = val();
		else if (a === "--turns")
			o.turns = val();
		else if (a === "--user")
			o.user = val();
		else if (a === "--password")
			o.password = val();
		else if (a === "--timeout")
			o.timeout = Number(val());
		else if (["udp", "tcp", "tls", "srflx"].includes(a))
			o.steps.push(a);
		else
			usage("unknown argument " + a);
	}
	if (!o.turn || !/^[0-9.]+:[0-9]+$/.test(o.turn))
		usage("--turn IPv4:PORT is required");
	if (o.steps.includes("tls") && (!o.turns || !/^[0-9.]+:[0-9]+$/.test(o.turns)))
		usage("the tls step needs --turns IPv4:PORT");
	if (!(o.timeout > 0))
		usage("--timeout must be a positive number of seconds");
	if (o.steps.length === 0)
		usage("no step given");
	const [host, port] = o.turn.split(":");
	o.turnHost = host;
	o.turnPort = Number(port);
	return o;
}

const opts = parseArgs(process.argv.slice(2));
const t0 = Date.now();
function say(msg) {
	console.log("[" + ((Date.now() - t0) / 1000).toFixed(1).padStart(5) + "s] " + msg);
}

// --- Cleanup and the overall bound -----------------------------------------

const cleanups = [];	// run in reverse order, each at most once
let cleaning = null;
function cleanup() {
	if (!cleaning)
		cleaning = (async () => {
			while (cleanups.length > 0) {
				const f = cleanups.pop();
				try {
					await Promise.race([f(), new Promise((r) => setTimeout(r, 5000))]);
				} catch (err) {
					say("cleanup: " + err);
				}
			}
		})();
	return cleaning;
}

async function finish(code) {
	clearTimeout(overall);
	await cleanup();
	process.exit(code);
}

// Launch, every step and the shutdown fit in this, or the run fails.
const overallMs = (opts.timeout * opts.steps.length + 30) * 1000;
const overall = setTimeout(() => {
	say("FAIL: the whole run took longer than " + overallMs / 1000 + " s");
	cleanup().finally(() => process.exit(1));
	setTimeout(() => process.exit(1), 8000).unref();
}, overallMs);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
	process.on(sig, () => {
		say("FAIL: " + sig);
		cleanup().finally(() => process.exit(1));
	});

// A promise that rejects after ms.
function within(promise, ms, what) {
	let timer;
	return Promise.race([promise, new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(what + ": no result after " + ms / 1000 +
		    " s")), ms);
	})]).finally(() => clearTimeout(timer));
}

// --- The page's HTTP server -------------------------------------------------

function startHttp() {
	const html = fs.readFileSync(path.join(__dirname, "page.html"));
	const server = http.createServer((req, res) => {
		if (req.method === "GET" && (req.url === "/" || req.url === "/page.html")) {
			res.writeHead(200, { "Content-Type": "text/html; charset=utf-8",
				"Cache-Control": "no-store" });
			res.end(html);
		} else {
			res.writeHead(404, { "Content-Type": "text/plain" });
			res.end("not found\n");
		}
	});
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			cleanups.push(() => new Promise((r) => {
				server.closeAllConnections && server.closeAllConnections();
				server.close(() => r());
			}));
			resolve("http://127.0.0.1:" + server.address().port + "/page.html");
		});
	});
}

// --- The UDP forwarder for the srflx step ---------------------------------------

// Listens on 127.0.0.1:port; each client source gets its own socket toward turnd, so that
// turnd sees (and maps) that socket's address. Replies go back to the client.
function startForwarder(turnHost, turnPort) {
	const front = dgram.createSocket("udp4");
	const clients = new Map();	// "ip:port" -> { socket, outPort, up, down }
	const fwd = { front, clients, port: 0 };
	front.on("message", (msg, rinfo) => {
		const key = rinfo.address + ":" + rinfo.port;
		let c = clients.get(key);
		if (!c) {
			const s = dgram.createSocket("udp4");
			c = { socket: s, outPort: null, up: 0, down: 0, address: rinfo.address,
				port: rinfo.port, queue: [msg] };
			clients.set(key, c);
			s.on("message", (m) => {
				c.down++;
				front.send(m, rinfo.port, rinfo.address);
			});
			s.on("error", (err) => say("forwarder socket for " + key + ": " + err));
			s.bind(0, "127.0.0.1", () => {
				c.outPort = s.address().port;
				say("forwarder: client " + key + " -> 127.0.0.1:" + c.outPort + " -> " +
				    turnHost + ":" + turnPort);
				for (const m of c.queue) {
					c.up++;
					s.send(m, turnPort, turnHost);
				}
				c.queue = null;
			});
			return;
		}
		if (c.queue) {
			c.queue.push(msg);
			return;
		}
		c.up++;
		c.socket.send(msg, turnPort, turnHost);
	});
	front.on("error", (err) => say("forwarder: " + err));
	return new Promise((resolve, reject) => {
		front.once("error", reject);
		front.bind(0, "127.0.0.1", () => {
			fwd.port = front.address().port;
			cleanups.push(async () => {
				for (const c of clients.values())
					c.socket.close();
				front.close();
			});
			resolve(fwd);
		});
	});
}

// --- Steps ------------------------------------------------------------------

function showErrors(errors) {
	for (const e of errors)
		say("  icecandidateerror " + JSON.stringify(e));
}

function showPageLog(result) {
	for (const line of result.log || [])
		say("  page: " + line);
}

// One relay step; returns a list of failures (empty: passed).
async function stepRelay(page, transport) {
	const url = transport === "tls" ? "turns:" + opts.turns + "?transport=tcp" :
	    "turn:" + opts.turnHost + ":" + opts.turnPort + "?transport=" + transport;
	say(transport + ": two relay-only connections through " + url);
	const ms = opts.timeout * 1000;
	const r = await within(page.evaluate((cfg) => window.runRelay(cfg), {
		url, username: opts.user, credential: opts.password, messages: MESSAGES,
		timeoutMs: ms - 5000 }), ms, transport + " step");
	const bad = [];
	if (r.error)
		bad.push("page: " + r.error);
	for (const n of ["a", "b"]) {
		const relays = r.candidates[n].filter((c) => / typ relay /.test(c));
		say("  " + n + ": " + r.candidates[n].length + " candidate(s), " + relays.length +
		    " relay; states " + r.states[n].join(" > "));
		if (relays.length === 0)
			bad.push(n + ": no relay candidate");
	}
	say("  data channel: a received " + r.received.a + ", b received " + r.received.b +
	    " (of " + MESSAGES + " each; out of order " + r.outOfOrder.a + "/" + r.outOfOrder.b + ")");
	for (const n of ["a", "b"]) {
		if (r.received[n] !== MESSAGES)
			bad.push(n + " received " + r.received[n] + " messages, want " + MESSAGES);
		if (r.outOfOrder[n] !== 0)
			bad.push(n + ": " + r.outOfOrder[n] + " messages out of order or garbled");
	}
	say("  video at b: " + JSON.stringify(r.video));
	if (!r.video || !(r.video.framesDecoded > 0 || r.video.bytesReceived > 0))
		bad.push("no inbound video (framesDecoded and bytesReceived are 0)");
	for (const n of ["a", "b"]) {
		const p = r.pairs[n];
		say("  " + n + " selected pair: " + JSON.stringify(p));
		if (!p) {
			bad.push(n + ": no selected candidate pair");
			continue;
		}
		if (!p.local || p.local.candidateType !== "relay")
			bad.push(n + ": local candidate is " + (p.local && p.local.candidateType) +
			    ", want relay");
		if (!p.remote || p.remote.candidateType !== "relay")
			bad.push(n + ": remote candidate is " + (p.remote && p.remote.candidateType) +
			    ", want relay");
		if (p.local && p.local.relayProtocol !== transport)
			bad.push(n + ": local relayProtocol is " + p.local.relayProtocol + ", want " +
			    transport);
		if (p.local && p.local.address !== opts.turnHost)
			bad.push(n + ": local relay address " + p.local.address + ", want " +
			    opts.turnHost);
	}
	showErrors(r.candidateErrors);
	if (bad.length > 0)
		showPageLog(r);
	return bad;
}

// The srflx step; returns a list of failures.
async function stepSrflx(page) {
	const fwd = await startForwarder(opts.turnHost, opts.turnPort);
	const url = "stun:127.0.0.1:" + fwd.port;
	say("srflx: gathering from " + url + " (a forwarder to " + opts.turn + ")");
	const ms = opts.timeout * 1000;
	const r = await within(page.evaluate((cfg) => window.runSrflx(cfg), {
		url, timeoutMs: ms - 5000 }), ms, "srflx step");
	const bad = [];
	if (r.error)
		bad.push("page: " + r.error);
	for (const c of r.candidates)
		say("  candidate " + c.candidate);
	for (const c of fwd.clients.values())
		say("  forwarder: " + c.address + ":" + c.port + " -> 127.0.0.1:" + c.outPort +
		    ": " + c.up + " up, " + c.down + " down");
	const srflx = r.candidates.filter((c) => c.type === "srflx");
	if (fwd.clients.size === 0)
		bad.push("nothing reached the forwarder");
	if (srflx.length === 0)
		bad.push("no srflx candidate");
	const outPorts = new Set([...fwd.clients.values()].map((c) => c.outPort));
	for (const c of srflx) {
		if (c.address !== "127.0.0.1" || !outPorts.has(c.port)) {
			bad.push("srflx " + c.address + ":" + c.port + " is not the forwarder's " +
			    "address toward turnd (127.0.0.1, port " + [...outPorts].join(" or ") + ")");
			continue;
		}
		// The host socket behind it is the client the forwarder saw for that port.
		const client = [...fwd.clients.values()].find((x) => x.outPort === c.port);
		if (c.relatedPort && c.relatedPort !== client.port)
			bad.push("srflx " + c.address + ":" + c.port + " has related port " +
			    c.relatedPort + ", but the forwarder saw that from port " + client.port);
		say("  srflx " + c.address + ":" + c.port + " = the forwarder's socket for " +
		    client.address + ":" + client.port);
	}
	showErrors(r.candidateErrors);
	if (bad.length > 0)
		showPageLog(r);
	return bad;
}

// --- Main -------------------------------------------------------------------

async function main() {
	if (!fs.existsSync(CHROMIUM)) {
		say("FAIL: " + CHROMIUM + " is missing");
		return finish(1);
	}
	const { chromium } = require("playwright-core");
	const pageUrl = await startHttp();
	say("page at " + pageUrl);

	const profile = fs.mkdtempSync(path.join(os.tmpdir(), "turnd-webrtc-profile."));
	cleanups.push(async () => fs.rmSync(profile, { recursive: true, force: true }));
	say("launching " + CHROMIUM);
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		timeout: 30000,
		args: [
			"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--disable-quic",
			"--allow-loopback-in-peer-connection",
			"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
			// No DNS at all: everything here is an IP literal on loopback, and this
			// keeps the browser's background requests from looking names up.
			"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
			// Host candidates as plain IPs, no mDNS names (nor multicast). A second
			// --disable-features may replace playwright's list rather than add to it:
			// keep the ones of that list that would reach for the network.
			"--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter," +
			    "DialMediaRouteProvider,OptimizationHints,Translate",
		],
	});
	cleanups.push(() => context.close());
	const browser = context.browser();
	say("browser " + (browser ? browser.version() : "(version unknown)"));

	let failed = 0;
	for (const step of opts.steps) {
		const page = await context.newPage();
		page.on("pageerror", (err) => say("  page error: " + err));
		page.on("crash", () => say("  page crashed"));
		let bad;
		try {
			await page.goto(pageUrl, { timeout: 15000 });
			bad = step === "srflx" ? await stepSrflx(page) : await stepRelay(page, step);
		} catch (err) {
			bad = [String(err && err.message || err)];
		}
		await page.close().catch(() => {});
		if (bad.length === 0) {
			say("PASS: " + step);
		} else {
			failed++;
			for (const b of bad)
				say("FAIL: " + step + ": " + b);
		}
	}
	say((opts.steps.length - failed) + " of " + opts.steps.length + " steps passed");
	return finish(failed === 0 ? 0 : 1);
}

main().catch((err) => {
	say("FAIL: " + (err && err.stack || err));
	finish(1);
});
