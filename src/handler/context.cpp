#include "handler/context.hpp"

#include "handler/pubsub_handler.hpp"

namespace wps::handler {

void Sessions::add(const std::shared_ptr<PubSubHandler>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session->id()] = session;
}

std::shared_ptr<PubSubHandler> Sessions::find(const std::string& connection_id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(connection_id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Sessions::remove(const PubSubHandler* session) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session->id());
  if (it != sessions_.end() && it->second.get() == session)
    sessions_.erase(it);
}

void TakenSessions::on_session_taken(const std::string& hub, const core::ConnId& id) {
  if (auto session = sessions_.find(id); session && session->hub()->name() == hub)
    session->relinquish();
}

std::size_t Sessions::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace wps::handler
