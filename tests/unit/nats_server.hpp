// The nats-server binary the NATS unit tests start (nats_main.cc), or nullptr.
#pragma once

const char* nats_server();
