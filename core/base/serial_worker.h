#pragma once
// SerialWorker: one thread that runs long jobs (building a snapshot of the whole store) one after
// another, off the HTTP pool, whose few threads must stay free for short requests. Jobs queue in
// order; the destructor runs the queued jobs, then joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cairn {

class SerialWorker {
 public:
  SerialWorker();
  ~SerialWorker();
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues `job`. Thread-safe; never blocks on a running job.
  void post(std::function<void()> job);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace cairn
