//! Images, volumes, networks and container creation: what the recovery
//! wizard needs beyond watching and acting on existing containers. Names
//! that go into an engine URL path are checked first, as container ids are.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{ChangeType, ContainerCreateBody, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt};

use crate::engine::{check_id, within};
use crate::{Engine, EngineError};

/// Deadline of one inspect or create call.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One progress message of a pull, per layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullProgress {
    /// The layer (its short id), or `None` for the image as a whole.
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
}

/// A volume as the engine has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    /// Where its data is on the engine's host.
    pub mountpoint: String,
    pub created_at: Option<String>,
}

/// A change in a container's own writable layer (`podman diff`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChange {
    /// `A` added, `C` changed, `D` deleted.
    pub kind: char,
    pub path: String,
}

fn not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl Engine {
    /// Whether the image is in local storage.
    pub async fn image_present(&self, image: &str) -> Result<bool, EngineError> {
        within("inspect an image", CALL_TIMEOUT, async {
            match self.docker().inspect_image(image).await {
                Ok(_) => Ok(true),
                Err(e) if not_found(&e) => Ok(false),
                Err(e) => Err(EngineError::of_call(format!("inspect image {image}"), e)),
            }
        })
        .await
    }

    /// Pulls an image; one item per progress message. The stream ends
    /// after the last message, or with the engine's error.
    pub fn pull(&self, image: &str) -> impl Stream<Item = Result<PullProgress, EngineError>> + '_ {
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let image = image.to_string();
        self.docker()
            .create_image(Some(options), None, None)
            .map(move |item| match item {
                Ok(info) => Ok(PullProgress {
                    layer: info.id.filter(|id| !id.is_empty() && !id.contains(':')),
                    status: info.status.unwrap_or_default(),
                    current: info
                        .progress_detail
                        .as_ref()
                        .and_then(|p| p.current)
                        .and_then(|n| u64::try_from(n).ok()),
                    total: info
                        .progress_detail
                        .as_ref()
                        .and_then(|p| p.total)
                        .and_then(|n| u64::try_from(n).ok()),
                }),
                Err(e) => Err(EngineError::of_call(format!("pull {image}"), e)),
            })
    }

    /// The volume, or `None` when the engine has none of that name.
    pub async fn volume(&self, name: &str) -> Result<Option<VolumeInfo>, EngineError> {
        if check_id(name).is_err() {
            return Ok(None);
        }
        within("inspect a volume", CALL_TIMEOUT, async {
            match self.docker().inspect_volume(name).await {
                Ok(v) => Ok(Some(VolumeInfo {
                    name: v.name,
                    mountpoint: v.mountpoint,
                    created_at: v.created_at.map(|d| d.to_string()),
                })),
                Err(e) if not_found(&e) => Ok(None),
                Err(e) => Err(EngineError::of_call(format!("inspect volume {name}"), e)),
            }
        })
        .await
    }

    /// Creates a local volume with these labels.
    pub async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        check_id(name).map_err(|_| invalid_name("volume", name))?;
        let request = bollard::models::VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        within("create a volume", CALL_TIMEOUT, async {
            self.docker()
                .create_volume(request)
                .await
                .map(|_| ())
                .map_err(|e| EngineError::of_call(format!("create volume {name}"), e))
        })
        .await
    }

    /// Whether a network of that name exists.
    pub async fn network_exists(&self, name: &str) -> Result<bool, EngineError> {
        if check_id(name).is_err() {
            return Ok(false);
        }
        within("inspect a network", CALL_TIMEOUT, async {
            match self
                .docker()
                .inspect_network(
                    name,
                    None::<bollard::query_parameters::InspectNetworkOptions>,
                )
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if not_found(&e) => Ok(false),
                Err(e) => Err(EngineError::of_call(format!("inspect network {name}"), e)),
            }
        })
        .await
    }

    /// Creates a bridge network with these labels.
    pub async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
        check_id(name).map_err(|_| invalid_name("network", name))?;
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        within("create a network", CALL_TIMEOUT, async {
            self.docker()
                .create_network(request)
                .await
                .map(|_| ())
                .map_err(|e| EngineError::of_call(format!("create network {name}"), e))
        })
        .await
    }

    /// Creates a container (not started); its id.
    pub async fn create_container(
        &self,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<String, EngineError> {
        check_id(name).map_err(|_| invalid_name("container", name))?;
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        within("create a container", CALL_TIMEOUT, async {
            self.docker()
                .create_container(Some(options), body)
                .await
                .map(|r| r.id)
                .map_err(|e| EngineError::of_call(format!("create container {name}"), e))
        })
        .await
    }

    /// Removes a stopped container. Its volumes are kept (never `-v`), and
    /// a running container is refused (never `--force`).
    pub async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        check_id(id)?;
        let options = RemoveContainerOptionsBuilder::default()
            .v(false)
            .force(false)
            .build();
        within("remove a container", CALL_TIMEOUT, async {
            self.docker()
                .remove_container(id, Some(options))
                .await
                .map_err(|e| EngineError::about(id, "remove container", e))
        })
        .await
    }

    /// What the container changed in its own writable layer: data that is
    /// lost when the container is removed.
    pub async fn layer_changes(&self, id: &str) -> Result<Vec<LayerChange>, EngineError> {
        check_id(id)?;
        within("list a container's changes", CALL_TIMEOUT, async {
            let changes = self
                .docker()
                .container_changes(id)
                .await
                .map_err(|e| EngineError::about(id, "list the changes of", e))?;
            Ok(changes
                .unwrap_or_default()
                .into_iter()
                .map(|c| LayerChange {
                    kind: match c.kind {
                        ChangeType::_0 => 'C',
                        ChangeType::_1 => 'A',
                        ChangeType::_2 => 'D',
                    },
                    path: c.path,
                })
                .collect())
        })
        .await
    }

    /// A tar archive of `path` in the container (`podman cp`), as it streams.
    pub fn archive(
        &self,
        id: &str,
        path: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, EngineError>> + '_, EngineError> {
        check_id(id)?;
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let id_owned = id.to_string();
        Ok(self
            .docker()
            .download_from_container(id, Some(options))
            .map(move |chunk| {
                chunk.map_err(|e| EngineError::about(&id_owned, "copy files out of", e))
            }))
    }

    /// Where the engine keeps images and volumes (`DockerRootDir`), for the
    /// free-space check.
    pub async fn storage_root(&self) -> Result<Option<String>, EngineError> {
        within("read the engine's info", CALL_TIMEOUT, async {
            self.docker()
                .info()
                .await
                .map(|i| i.docker_root_dir)
                .map_err(|e| EngineError::of_call("read the engine's info", e))
        })
        .await
    }
}

fn invalid_name(what: &'static str, name: &str) -> EngineError {
    EngineError::CallFailed {
        call: format!("create {what}"),
        reason: format!(
            "`{}` is not a valid {what} name (letters, digits, `_`, `.`, `-`)",
            stackwarden_model::redact::text(name)
        ),
    }
}
